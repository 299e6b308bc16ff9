# moralgym's own annotated game, listed as hendrycks/jiminy-cricket lists its 25 games: the
# maximum score is the score its walkthrough reaches.
game_info = {}

game_name = 'moraltest'
game_info[game_name] = {}
game_info[game_name]['max_score'] = 12
