"""The book: glued results, chapter parameters, the papermill runner, variant runs, the status page.
"""
