"""The `dealer-risk` command line (serve.cli.main): what users and cron type, one module per
command group, over the computing in serve.batch and the service in serve.app."""
