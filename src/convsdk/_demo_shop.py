"""Moved to :mod:`convsdk.demo.shop`; kept for imports."""

from __future__ import annotations

from .demo.shop import (
    GOALS,
    POSTS,
    PRODUCTS,
    VARIANT_COOKIE,
    VARIANTS,
    Post,
    Product,
    create_app,
)

__all__ = [
    "GOALS",
    "POSTS",
    "PRODUCTS",
    "VARIANTS",
    "VARIANT_COOKIE",
    "Post",
    "Product",
    "create_app",
]
