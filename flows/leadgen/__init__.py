"""leadgen: lead segments, capacity and daily stats for a Dutch home-services marketplace."""

__version__ = "0.2.0"
