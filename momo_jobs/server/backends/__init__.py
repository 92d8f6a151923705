"""Where jobs run: local processes, notebook console kernels, a Ray cluster."""
