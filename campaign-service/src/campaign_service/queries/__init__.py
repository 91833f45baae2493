"""Read models above every domain folder: views that join several aggregates, and their endpoints."""
