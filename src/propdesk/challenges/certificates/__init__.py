"""Certificates a trader may show: a stage passed, a payout made (see docs/certificates.md).

`services` issues them (what they say is fixed then, in `Certificate.figures`) and finds them
for their owner, for staff and for anyone holding a code; `wording` says what one reads as;
`document` draws its one-page PDF; `portal`, `backoffice` and `urls` are the pages."""
