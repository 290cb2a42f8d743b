"""The department's desk in a browser (`ictplan serve`): the top of the stages, like the CLI, and as thin.

`server` builds the app; `app` holds the pages (Starlette, Jinja2 templates in `templates/`); `desk` is every
action as a call into the library; `uploads` puts sent files into the inbox; `security` holds the guards;
`messages` the pages' words. Nothing below imports this package, and it is imported only by `ictplan serve`.
"""
