"""How channel outputs are computed: one module per model library, loaded lazily."""
