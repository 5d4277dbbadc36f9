"""Trainable spiking detectors and their ANN twins (torch), with export to the IR."""
