"""Forms, one module per concept as in ``views/``: ``fields`` (shared
fields), ``lines``, ``checkout``, ``autorenew``, ``vouchers``."""
