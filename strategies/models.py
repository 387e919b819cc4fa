"""The strategy SDK, built-in strategies and their deployments."""
