"""The task SDK: Task, Logger, OutputModel and what they are made of."""
