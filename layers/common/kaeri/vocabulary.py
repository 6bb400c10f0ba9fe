"""Canonical event names (Segment e-commerce spec v2 plus Kaeri's own) and channels."""

from __future__ import annotations

from typing import Literal

PRODUCT_VIEWED = "Product Viewed"
PRODUCT_ADDED = "Product Added"
PRODUCT_REMOVED = "Product Removed"
CART_VIEWED = "Cart Viewed"
CHECKOUT_STARTED = "Checkout Started"
ORDER_COMPLETED = "Order Completed"
ORDER_REFUNDED = "Order Refunded"
ORDER_CANCELLED = "Order Cancelled"
WISHLIST_ADDED = "Product Added to Wishlist"
SIGNED_UP = "Signed Up"

# Emitted by Kaeri itself.
PRODUCT_RESTOCKED = "Product Restocked"
POINTS_UPDATED = "Points Updated"
UNSUBSCRIBED = "Unsubscribed"
CONSENT_CHANGED = "Consent Changed"
EMAIL_DELIVERED = "Email Delivered"
EMAIL_OPENED = "Email Opened"
EMAIL_LINK_CLICKED = "Email Link Clicked"
EMAIL_BOUNCED = "Email Bounced"
EMAIL_COMPLAINED = "Email Complained"
MESSAGE_LINK_CLICKED = "Message Link Clicked"

ECOMMERCE_EVENTS = frozenset(
    {
        PRODUCT_VIEWED,
        PRODUCT_ADDED,
        PRODUCT_REMOVED,
        CART_VIEWED,
        CHECKOUT_STARTED,
        ORDER_COMPLETED,
        ORDER_REFUNDED,
        ORDER_CANCELLED,
        WISHLIST_ADDED,
        SIGNED_UP,
    }
)

Channel = Literal["email", "line", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "line", "sms")
