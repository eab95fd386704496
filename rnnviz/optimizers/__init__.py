"""Optimizers (``rnnviz.optimizers``) and their hooks."""
from .hooks import GradientClipping, GradientHardClipping, WeightDecay, global_norm
from .optimizer import SGD, Adam, MomentumSGD, Optimizer

__all__ = ["Adam", "GradientClipping", "GradientHardClipping", "MomentumSGD", "Optimizer", "SGD", "WeightDecay", "global_norm"]
