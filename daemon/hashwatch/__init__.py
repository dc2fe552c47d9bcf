"""hashwatch: a monitoring daemon for Bitcoin miners and the ops teams behind them."""

__version__ = "0.1.0"
