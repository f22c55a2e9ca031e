"""Background jobs: the queue table (django-tasks' database backend) and propdesk's worker,
which re-queues abandoned jobs, retries failures with back-off and keeps each attempt's error
for staff (Settings > Background jobs). See docs/background-jobs.md."""
