print("meshgated: not yet implemented")
