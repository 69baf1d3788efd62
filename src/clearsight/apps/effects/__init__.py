"""Face and body effects for selfies and livestreams: stickers, beautification,
body reshaping and background, chosen by the user and off by default."""
