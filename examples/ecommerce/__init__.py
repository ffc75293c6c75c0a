"""An e-commerce shop on one DynamoDB table: the dynaorm example (see README.md here).

Modules: ``models`` (the table and its entities), ``customers``, ``catalog`` and ``orders``
(the services, each an object on the table it is given), ``services`` (the three together),
``errors``, ``seed`` (sample data), ``demo`` (``python -m examples.ecommerce``) and ``api``
(the catalog as a FastAPI app on the async API).
"""
