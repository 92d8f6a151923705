"""What runs in the Jupyter server: the extension, its REST handlers, the job service,
the store, the scheduler and the backends."""
