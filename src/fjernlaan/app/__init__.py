"""The composition root: the app factory, serving, the worker, the CLI, demo seeding, the table registry
and the migrations. The only package that knows every area (`areas.AREAS`); nothing imports it but
the entry points (`fjernlaan` command, `fjernlaan.app.factory:create_served_app`) and the tests."""
