"""Pure image and geometry functions used by the nodes, testable without a model."""
