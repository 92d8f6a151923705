"""What runs beside each job: the supervisor, the job folder's files, and the metric
line protocol that user scripts import. Standard library only."""
