"""The coffee bar's rules: orders, menu, QR codes, barista queue, shop; each module by its noun."""
