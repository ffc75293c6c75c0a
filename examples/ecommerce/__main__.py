"""``python -m examples.ecommerce``: the e-commerce demo on the embedded server."""

from examples.ecommerce.demo import main

raise SystemExit(main())
