"""Market-data providers behind one small interface (``base.MarketDataProvider``)."""
