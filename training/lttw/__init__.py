"""ListenToTheWorld training package: scene generator, model, training, export, evaluation."""
__version__ = "0.1.0"
