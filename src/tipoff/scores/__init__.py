"""Scores as services: the rescoring pass that computes and stores them and queues
alerts (`rescoring`), and reading one account's or the best ones (`lookup`)."""
