"""Over-the-air updates a fleet can trust: releases of a compressed model published as a TUF repository
(signed, versioned, with weight-level patches), and the device side that installs them into A/B slots."""
