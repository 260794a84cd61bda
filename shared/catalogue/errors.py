class CatalogueError(ValueError):
    """A catalogue file the service cannot use; the message names the file and what is wrong.

    An operator's mistake, not a client's: it stops the process that loads the catalogue.
    """
