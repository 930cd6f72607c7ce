"""Our objects in Voucherify's JSON shapes, one module per area; other routers import them."""
