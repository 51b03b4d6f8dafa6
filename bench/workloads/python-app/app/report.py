import statistics

def summarise(values):
    values = list(values)
    return {"count": len(values), "mean": statistics.mean(values), "stdev": round(statistics.pstdev(values), 3)}
