KILL QUERY WHERE query_id = 'query-id'
