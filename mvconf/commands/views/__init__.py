"""What a person sees and is asked: the console, the read and apply views. With the commands,
the only users of click and rich."""
