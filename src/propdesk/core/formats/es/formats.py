"""Spanish: amounts grouped with a dot and decimals after a comma (12.345,67), as most of Latin
America and Spain write them (Django's own Spanish groups with a space). Dates: Django's."""

DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
NUMBER_GROUPING = 3
