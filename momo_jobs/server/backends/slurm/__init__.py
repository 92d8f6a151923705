"""The Slurm backend: each job an sbatch job running momo's supervisor on a node.

commands.py holds every call to Slurm's commands and the parsing of their answers;
backend.py the backend.
"""
from .backend import SlurmBackend

__all__ = ["SlurmBackend"]
