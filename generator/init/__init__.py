"""``gen init``: a new GitOps repo from the cookiecutter template shipped here (``template/``, package data).

``scaffold`` asks the questions (through cookiecutter's own prompts), checks every answer with the rules the cluster
loader applies to a spec, and renders the template; ``generator.cli.init`` puts the result in place.
"""
