"""metrics-service: projections of every topic for the operations index."""
