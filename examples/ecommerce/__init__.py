"""An e-commerce shop on one DynamoDB table: the dynaorm example (see README.md here).

Modules: ``models`` (the table and its entities), ``customers``, ``catalog`` and ``orders``
(the services), ``errors``, ``seed`` (sample data) and ``demo`` (``python -m
examples.ecommerce``).
"""
