"""Kafka producer/consumer factories and topic names."""
