"""dynaorm: single-table data modeling for Amazon DynamoDB, layered over PynamoDB.

Example:
    >>> from dynaorm import Table, Index, Entity, Key
    >>> from pynamodb.attributes import UnicodeAttribute
    >>> shop = Table("shop", indexes=[Index("GSI1", pk="GSI1PK", sk="GSI1SK")])
    >>> class Customer(Entity, table=shop):
    ...     customer_id = UnicodeAttribute()
    ...     email = UnicodeAttribute()
    ...     primary = Key(pk="CUSTOMER#{customer_id}", sk="PROFILE")
    ...     by_email = Key(index="GSI1", pk="EMAIL#{email}", sk="CUSTOMER")
    >>> Customer(customer_id="c1", email="a@x.io").to_item()["GSI1PK"]
    {'S': 'EMAIL#a@x.io'}
"""

# The package imports lazily: ``import dynaorm`` (which ``import dynaorm.testing``, the pytest
# plugin every run in an environment with dynaorm loads, implies) costs nothing; the first
# public name asked for imports dynaorm.api.public, the one list of public names (botocore and
# PynamoDB with it).
import typing as _typing

from dynaorm.base.version import __version__

if _typing.TYPE_CHECKING:
    from dynaorm.api.public import *  # noqa: F403

    __all__: list[str]
else:

    def _public() -> _typing.Any:
        import importlib

        return importlib.import_module("dynaorm.api.public")

    def _exports(public: _typing.Any) -> dict[str, _typing.Any]:
        # (pytest's assertion rewriting, for the plugin's package, adds names like @py_builtins)
        return {k: v for k, v in vars(public).items() if k.isidentifier() and not k.startswith("_")}

    def __getattr__(name: str) -> _typing.Any:
        if name == "__all__":
            names = sorted(_exports(_public()))
            globals()["__all__"] = names
            return names
        if name.startswith("_"):
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        exports = _exports(_public())
        if name not in exports:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals().update(exports)
        return exports[name]

    def __dir__() -> list[str]:
        return sorted({*globals(), *__getattr__("__all__")})
