"""The instructor's kit for a perflab workshop: JupyterHub configuration, learners, pre-flight (see README.md)."""
