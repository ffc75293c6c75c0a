"""Customers: registration with a unique email, addresses, profile and activity counters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import attrs

from dynaorm import RetryPolicy, Table, TransactionCanceled, retry_on_conflict
from examples.ecommerce._contention import CONTENTION
from examples.ecommerce.errors import EmailTaken, TooBusy, UnknownCustomer
from examples.ecommerce.models import Address, Customer, CustomerActivity, EmailClaim, shop_table

__all__ = ["CustomerProfile", "Customers", "normalise_email"]


@attrs.frozen
class CustomerProfile:
    """A customer's item collection: profile, addresses and activity counters."""

    customer: Customer
    addresses: tuple[Address, ...]
    activity: CustomerActivity


def normalise_email(email: str) -> str:
    """The form an address is stored and compared in (trimmed, lower case)."""
    return email.strip().lower()


class Customers:
    """The customer services, on the shop's table.

    Args:
        table: The shop's table (:data:`examples.ecommerce.models.shop`, under any name).
        contention: How often, and with what pauses, a registration that lost a race to a
            concurrent one is retried.

    Example:
        >>> customers = Customers(shop)  # doctest: +SKIP
        >>> ada = customers.register_customer("Ada", "ada@example.com")  # doctest: +SKIP
    """

    def __init__(self, table: Table, *, contention: RetryPolicy = CONTENTION) -> None:
        self.table = shop_table(table)
        self.contention = contention

    def register_customer(
        self, name: str, email: str, *, customer_id: str | None = None, at: datetime | None = None
    ) -> Customer:
        """Create a customer who owns ``email``, in one transaction with the email claim.

        The claim item ``EMAIL#<email>`` is put under ``attribute_not_exists``; if another
        customer holds the address, the transaction is cancelled and nothing is written.

        Args:
            name: The customer's name.
            email: The address; compared case-insensitively.
            customer_id: The id to use (default: a new random one).
            at: When the customer joined (default: now).

        Raises:
            EmailTaken: Another customer registered ``email``.
            TooBusy: Concurrent registrations of the same address kept conflicting.
            dynaorm.ValidationError: The email contains the key delimiter ``#``.

        Example:
            >>> ada = customers.register_customer("Ada", "ada@example.com")  # doctest: +SKIP
            >>> customers.register_customer("Ada II", "ADA@example.com")  # doctest: +SKIP
            Traceback (most recent call last):
            examples.ecommerce.errors.EmailTaken: email 'ada@example.com' is already registered; ...
        """
        address = normalise_email(email)
        customer = Customer(
            customer_id=customer_id or uuid.uuid4().hex[:12],
            name=name,
            email=address,
            joined_at=at or datetime.now(UTC),
        )

        def attempt() -> Customer:
            try:
                with self.table.transaction() as tx:
                    tx.put(customer)  # versioned: written as version 1 under attribute_not_exists
                    tx.put(
                        EmailClaim(email=address, customer_id=customer.customer_id),
                        condition=EmailClaim.customer_id.does_not_exist(),
                    )
            except TransactionCanceled as exc:
                claim = exc.reasons[1]
                if claim.code == "ConditionalCheckFailed":
                    raise EmailTaken(address) from exc
                if any(r.code == "TransactionConflict" for r in exc.reasons):
                    # A concurrent registration was in flight: try again.
                    raise TooBusy(f"registering {address!r}") from exc
                raise
            return customer

        return retry_on_conflict(attempt, policy=self.contention, retry_on=TooBusy)

    def add_address(
        self, customer_id: str, label: str, *, line1: str, city: str, postcode: str, country: str
    ) -> Address:
        """Save (or replace) the customer's address called ``label`` (e.g. ``"home"``).

        Raises:
            UnknownCustomer: No customer has ``customer_id``.
        """
        if Customer.get(customer_id=customer_id) is None:
            raise UnknownCustomer(customer_id)
        address = Address(
            customer_id=customer_id,
            label=label,
            line1=line1,
            city=city,
            postcode=postcode,
            country=country,
        )
        address.save()
        return address

    def customer_activity(self, customer_id: str) -> CustomerActivity:
        """The customer's counters (all zero before the first order or review)."""
        found = CustomerActivity.get(customer_id=customer_id)
        return found if found is not None else CustomerActivity(customer_id=customer_id)

    def customer_profile(self, customer_id: str) -> CustomerProfile:
        """Profile, addresses and counters with one query of the customer's partition.

        Raises:
            UnknownCustomer: No customer has ``customer_id``.
        """
        collection = self.table.partition(
            Customer.primary, types=[Customer, Address, CustomerActivity], customer_id=customer_id
        )
        customer = collection.first(Customer)
        if customer is None:
            raise UnknownCustomer(customer_id)
        activity = collection.first(CustomerActivity) or CustomerActivity(customer_id=customer_id)
        return CustomerProfile(customer, tuple(collection[Address]), activity)
