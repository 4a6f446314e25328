"""The e-commerce schema: six tables as SQLAlchemy 2.x typed ORM models, relationships both ways.

>>> from perflab.schema import Base
>>> sorted(Base.metadata.tables)
['notifications', 'order_items', 'orders', 'products', 'reviews', 'users']

Money is stored in whole cents (``*_cents`` integers) so totals add up exactly on every backend.
Primary keys and foreign-key indexes exist; every other index is left for the learner to add.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, SmallInteger, String
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: Timestamps to the second; on SQLite stored as ``'YYYY-MM-DD HH:MM:SS'`` text, the same text on every path.
Timestamp = DateTime().with_variant(SQLITE_DATETIME(truncate_microseconds=True), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of the perflab models."""


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(Timestamp)

    orders: Mapped[list[Order]] = relationship(back_populates="user")
    reviews: Mapped[list[Review]] = relationship(back_populates="user")
    notifications: Mapped[list[Notification]] = relationship(back_populates="user")

    def __repr__(self) -> str:
        return f"User(id={self.id}, name={self.name!r})"


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(40))
    price_cents: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(400))

    order_items: Mapped[list[OrderItem]] = relationship(back_populates="product")
    reviews: Mapped[list[Review]] = relationship(back_populates="product")

    def __repr__(self) -> str:
        return f"Product(id={self.id}, name={self.name!r})"


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    total_cents: Mapped[int] = mapped_column(Integer)

    user: Mapped[User] = relationship(back_populates="orders")
    items: Mapped[list[OrderItem]] = relationship(back_populates="order")

    def __repr__(self) -> str:
        return f"Order(id={self.id}, user_id={self.user_id}, total_cents={self.total_cents})"


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(SmallInteger)
    unit_price_cents: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="items")
    product: Mapped[Product] = relationship(back_populates="order_items")

    def __repr__(self) -> str:
        return f"OrderItem(id={self.id}, order_id={self.order_id}, product_id={self.product_id})"


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    rating: Mapped[int] = mapped_column(SmallInteger)
    body: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(Timestamp)

    user: Mapped[User] = relationship(back_populates="reviews")
    product: Mapped[Product] = relationship(back_populates="reviews")

    def __repr__(self) -> str:
        return f"Review(id={self.id}, product_id={self.product_id}, rating={self.rating})"


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(String(200))
    is_read: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(Timestamp)

    user: Mapped[User] = relationship(back_populates="notifications")

    def __repr__(self) -> str:
        return f"Notification(id={self.id}, user_id={self.user_id}, is_read={self.is_read})"


#: Tables in load order (parents before children).
TABLES = ("users", "products", "orders", "order_items", "reviews", "notifications")
