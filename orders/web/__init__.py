"""The people's pages: the customer's ordering pages, the display board and the live streams."""
