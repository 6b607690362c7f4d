"""7. The one native analysis in other shapes (AssemblyAI, Deepgram, insights, text, subtitles, plots). Pure."""
