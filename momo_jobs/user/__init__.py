"""What people call: the REST client, the ``momo-jobs`` command line, the ``%job``
magics and the Keras helper."""
