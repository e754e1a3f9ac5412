"""The portal's pages, one blueprint per audience: ``common`` for everyone, then one per role."""
