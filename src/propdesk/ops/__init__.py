"""Running propdesk as a service: health and readiness, metrics, backups. The top layer: it reads
every app (the job queue, the platform outbox, the monitor's checkpoints) and none reads it."""
