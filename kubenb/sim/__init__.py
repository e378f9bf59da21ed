"""The simulated data plane: nodes whose kubelets run pods without containers."""
