"""Built-in node types, one module per role. Each module lists its classes in NODE_TYPES."""
