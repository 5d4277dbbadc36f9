"""neurosim: event-driven, hardware-aware simulation of spiking object detectors."""

__version__ = "0.1.0"
